"""symdyn: derive, analyse and check the learning dynamics of learning rules in linear RNNs."""

__version__ = "0.1.0"
