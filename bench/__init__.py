"""Performance measurements of the functions against the SDK floor: `python -m bench [--quick]`.

Every figure is measured next to its floor in the same run, interleaved, because this machine is noisy:
absolute times mean little, ratios hold. See docs/PERFORMANCE.md.
"""
