import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("MPLBACKEND", "Agg")
import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Every test run gets its own empty on-disk cache (symdyn.cache): a stale user cache
    can never answer for the code under test. Child processes inherit the variable."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SYMDYN_CACHE_DIR", str(tmp_path_factory.mktemp("symdyn-cache")))
        patch.delenv("SYMDYN_NO_CACHE", raising=False)
        yield
