"""Daily raffles among hunt completers that anyone can verify: freeze, draw, claim or redraw."""
