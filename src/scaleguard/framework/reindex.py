"""Rewrite ``framework/builtin/index.json`` after adding or editing a built-in document.

Run ``python -m scaleguard.framework.reindex`` from a source checkout; a test
fails while the index and the documents disagree.
"""

from scaleguard.framework.library import write_index

if __name__ == "__main__":
    print(f"wrote {write_index()}")
