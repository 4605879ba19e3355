"""Digits in: the datasets and their files, the 28×28 → 16×16 reduction, augmentation, the canvas, drawn digits.

NumPy and Pillow only; imports nothing else of the package but ``config`` and ``errors``.
"""
