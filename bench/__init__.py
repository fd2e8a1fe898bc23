"""`make bench`: the system measured against bare baselines started in the same run.

The machine is shared and noisy, so no figure stands alone: each is printed next to a bare
baseline measured on the same servers a moment apart, and the ratio is what we track. Run it as
`python -m bench` (see `bench/__main__.py`); the results land in `bench/results.json`.
"""
