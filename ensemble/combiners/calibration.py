"""Temperature scaling of blended probabilities (Guo et al. 2017).

Averaging members trained with augmentation, label smoothing or weight decay
tends to give probabilities that are less confident than the ensemble's
accuracy warrants: the average of several softened guesses is softer still.
One parameter fixes most of that. The blend's log-probabilities are divided
by a temperature ``T`` and renormalised,

    p_T(k) = p(k) ** (1 / T) / sum_j p(j) ** (1 / T),

which leaves every prediction's ranking (so accuracy) unchanged; ``T < 1``
sharpens, ``T > 1`` softens. ``T`` is the value that minimises the log loss
on the blending data, the rows the members never trained on.
"""

import numpy as np
from scipy.optimize import minimize_scalar

__all__ = ["apply_temperature", "fit_temperature"]

#: Temperatures are searched in [1/20, 20]: outside it the blend is either a
#: hard vote or near uniform, and the blending data is too small to say so.
_LOG_T_BOUND = np.log(20.0)
_EPS = 1e-15


def apply_temperature(proba, temperature):
    """Divide the log-probabilities by ``temperature`` and renormalise.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        Rows summing to one.
    temperature : float
        Positive; 1 returns ``proba`` unchanged.

    Returns
    -------
    ndarray of shape (n_samples, n_classes), float64

    See Also
    --------
    fit_temperature : The temperature that fits best.

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble.combiners.calibration import apply_temperature
    >>> proba = np.array([[0.8, 0.2], [0.5, 0.5]])
    >>> apply_temperature(proba, 2.0).round(3)
    array([[0.667, 0.333],
           [0.5  , 0.5  ]])
    """
    proba = np.asarray(proba, dtype=np.float64)
    if temperature == 1.0:
        return proba
    logits = np.log(np.clip(proba, _EPS, None)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return scaled / scaled.sum(axis=1, keepdims=True)


def fit_temperature(proba, y_indices):
    """The temperature that minimises the log loss of ``proba`` on ``y_indices``.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
    y_indices : ndarray of shape (n_samples,)
        Column of the true class of each row.

    Returns
    -------
    float
        In [1/20, 20].

    See Also
    --------
    apply_temperature : Rescale probabilities by a temperature.

    Examples
    --------
    Over-confident predictions, one of four wrong, call for a temperature above one:

    >>> import numpy as np
    >>> from ensemble.combiners.calibration import fit_temperature
    >>> proba = np.array([[0.99, 0.01], [0.99, 0.01], [0.01, 0.99], [0.99, 0.01]])
    >>> fit_temperature(proba, np.array([0, 0, 1, 1])) > 1
    True
    """
    log_p = np.log(np.clip(np.asarray(proba, dtype=np.float64), _EPS, None))
    rows = np.arange(len(y_indices))

    def loss(log_t):
        logits = log_p / np.exp(log_t)
        logits -= logits.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(logits).sum(axis=1))
        return float(np.mean(log_norm - logits[rows, y_indices]))

    result = minimize_scalar(loss, bounds=(-_LOG_T_BOUND, _LOG_T_BOUND), method="bounded",
                             options={"xatol": 1e-4})
    # Keep T = 1 unless scaling really lowers the loss: a flat optimum on a
    # small blending set should not move the probabilities.
    return float(np.exp(result.x)) if result.fun < loss(0.0) - 1e-9 else 1.0
