"""Analysis of recordings and saved networks, the thesis's figures, and the registry of
figures that ``brainlc plot`` draws."""
