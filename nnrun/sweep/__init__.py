"""Sweeps: expand a grid into validated points (`expand`, pure), run them on a backend
(`local` worker processes or `ray_backend`) through `runner`, and summarise (`summary`).

Nothing here imports TensorFlow except `worker`, inside the worker processes.
"""
