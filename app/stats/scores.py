"""How far one judgment agrees with a reference label, AlpacaEval's way: 1 - |p - r|.

p and r are preferences in [1, 2]; a decisive judgment that matches scores 1, the opposite side
0, and a tie against a decisive reference 0.5. The one definition used for human agreement,
calibration, gold accuracy and rater-to-rater agreement.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

Value = TypeVar("Value", float, NDArray[np.float64])


def agreement_score(preference: Value, reference: Value | float) -> Value:
    return 1 - abs(preference - reference)
