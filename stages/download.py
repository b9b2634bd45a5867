"""DVC stage `download`: params `dataset`, `demo`, `download` -> data/raw/ (unpacked archive)."""

from pipeline.acquire import acquire
from pipeline.params import load_params

if __name__ == "__main__":
    source = acquire(load_params("params.yaml"), "data/raw")
    names = ", ".join(f"{a['name']} (md5 {a['md5']})" for a in source["archives"])
    print(f"download: {source['dataset']}: {names} unpacked to data/raw")
