"""What the C epoch loop hands back besides the weights: its metric sums (how many),
and its stop before a step whose loss, gradient or update was not finite (what fit
does then).  Shared by fastnn.training and the data-stream loop (fastnn._sources)."""
from __future__ import annotations

from ._kernels._core import N_SUMS as _N_SUMS
from ._validation import NonFiniteLossError


# the C loop's metric sums (csrc/fnn_common.h): loss, accuracy, mae, mse, then the three
# metrics again unweighted (for compile's `metrics`; `weighted_metrics` use the first)
N_SUMS = _N_SUMS


def stop_at_non_finite(epoch: int, where: str, terminate: bool) -> None:
    """After the C loop stopped before a batch whose loss, gradient or update was not
    finite (fnn_net_train applies no such step, so the weights are those after the
    last applied batch): with TerminateOnNaN print Keras's line and return (the
    caller stops training); otherwise raise NonFiniteLossError.  `where`: "in epoch
    e, after n ... samples"."""
    where += "; the weights are those after the last applied batch"
    if terminate:
        print(f"Epoch {epoch + 1}: invalid loss, terminating training ({where})")
        return
    raise NonFiniteLossError(
        "fit(): the loss became NaN or infinite, or the update would have made a weight "
        f"so ({where}). Lower the learning rate, scale the inputs, or check the targets.")
