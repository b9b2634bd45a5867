"""DVC stage `download`: params `dataset`, `demo`, `download` -> data/raw/ (unpacked archive)."""

from pipeline.acquire import acquire
from pipeline.params import load_params

if __name__ == "__main__":
    source = acquire(load_params("params.yaml"), "data/raw")
    print(f"download: {source['dataset']} archive {source['archive']} (md5 {source['md5']}) unpacked to data/raw")
