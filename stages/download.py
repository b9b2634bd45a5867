"""DVC stage `download`: params `dataset`, `demo` -> data/raw/ (the unpacked archives + SOURCE.json)."""

from pipeline.download.stage import download
from pipeline.core.errors import report_errors
from pipeline.params import load_params

if __name__ == "__main__":
    with report_errors("download"):
        source = download(load_params("params.yaml"), "data/raw")
        names = ", ".join(f"{a.name} (md5 {a.md5})" for a in source.archives)
        print(f"download: {source.dataset}: {names} unpacked to data/raw")
