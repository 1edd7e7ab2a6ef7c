"""Combiners that blend Keras member networks, and the tools around them."""
