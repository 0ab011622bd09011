"""A hand-written JAX MLP, as a JAX user writes one: parameters as a list of
(W, b), ``jax.value_and_grad`` of the loss on logits, the optimizer update
(Keras's SGD-momentum and Adam rules) written with ``tree_map``.

Two ways to drive it:

* ``jax`` — the whole epoch is one ``jax.jit``-compiled function: the
  permutation is drawn on the host (NumPy) and passed in, ``lax.scan`` runs over
  its batches of row indices and gathers each batch's rows inside the scan body
  (no sort on the device, no permuted copy of the data set per epoch); a last,
  shorter batch gets one more step inside the same function; parameters and
  optimizer state are donated, so XLA updates them in place — the strongest
  epoch we know how to write in JAX;
* ``jax-step`` — one ``jax.jit``-compiled training step called from a Python
  loop over NumPy batches of a shuffled copy of the data (the JAX examples'
  pattern); two shapes are compiled when the last batch is shorter.
"""
from __future__ import annotations

import numpy as np

JIT = ("jax", "jax-step")  # first epoch = compilation: the child sizes windows on a second one
_COMPILED: dict = {}  # (peer, net, batch, rows) -> jitted function: a 2nd trainer reuses it

NOTES = {
    "jax": "epoch = one jax.jit(lax.scan over batches) call (host-drawn permutation, "
           "rows gathered inside the scan body, params/state donated); "
           "predict = jax.jit(forward), np.asarray of the result",
    "jax-step": "per batch one jax.jit(step) call from a Python loop over NumPy batches; "
                "inference is the same as 'jax', so W5 is not repeated",
}


def unsupported(peer, case):
    if case.kind in ("peak", "noop"):
        return "fastnn only" if case.kind == "noop" else "measured by the sgemm probe"
    if peer == "jax-step" and case.kind in ("latency", "batch"):
        return "inference is the same jax.jit(forward) as peer 'jax'"
    return None


def setup(peer, threads):
    import jax
    import jaxlib

    from ..machine import blas_pools

    info = blas_pools()
    info.append({"note": f"XLA:CPU compiles its own kernels (Eigen/oneDNN); devices "
                         f"{[str(d) for d in jax.devices()]}"})
    return {"versions": {"jax": jax.__version__, "jaxlib": jaxlib.__version__}, "blas": info}


def _fns(net):
    """(forward to logits, loss(params, x, y), output activation) for `net`."""
    import jax
    import jax.numpy as jnp

    hidden = [{"tanh": jnp.tanh, "relu": jax.nn.relu}[a] for a in net.acts[:-1]]

    def logits(params, x):
        for (W, b), f in zip(params[:-1], hidden):
            x = f(x @ W + b)
        W, b = params[-1]
        return x @ W + b

    if net.loss == "binary_crossentropy":
        def loss(params, x, y):
            z = logits(params, x)
            return jnp.mean(jnp.logaddexp(0.0, z) - y * z)
        out = jax.nn.sigmoid
    elif net.loss == "sparse_categorical_crossentropy":
        def loss(params, x, y):
            logp = jax.nn.log_softmax(logits(params, x))
            return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))
        out = jax.nn.softmax
    else:
        def loss(params, x, y):
            return jnp.mean((logits(params, x) - y) ** 2)

        def out(z):
            return z
    return logits, loss, out


def _optimizer(spec):
    """(init(params) -> state, update(params, grads, state) -> (params, state))."""
    import jax
    import jax.numpy as jnp

    tm = jax.tree_util.tree_map
    if spec[0] == "sgd":
        lr, mu = spec[1], spec[2]

        def init(params):
            return tm(jnp.zeros_like, params)

        def update(params, grads, vel):
            if mu == 0.0:
                return tm(lambda p, g: p - lr * g, params, grads), vel
            vel = tm(lambda v, g: mu * v - lr * g, vel, grads)  # v = μ v − η g; w += v
            return tm(lambda p, v: p + v, params, vel), vel
        return init, update
    lr, b1, b2, eps = spec[1], 0.9, 0.999, 1e-7

    def init(params):
        return (tm(jnp.zeros_like, params), tm(jnp.zeros_like, params), jnp.zeros((), jnp.float32))

    def update(params, grads, state):
        m, v, t = state
        t = t + 1
        lr_t = lr * jnp.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        m = tm(lambda m_, g: m_ + (1 - b1) * (g - m_), m, grads)
        v = tm(lambda v_, g: v_ + (1 - b2) * (g * g - v_), v, grads)
        params = tm(lambda p, m_, v_: p - lr_t * m_ / (jnp.sqrt(v_) + eps), params, m, v)
        return params, (m, v, t)
    return init, update


class Trainer:
    def __init__(self, peer, case, net, data, weights, seed):
        import jax
        import jax.numpy as jnp

        self.jax = jax
        logits, loss, self.out = _fns(net)
        self.logits = jax.jit(logits)
        init, update = _optimizer(net.optimizer)
        self.params = [(jnp.asarray(weights[i]), jnp.asarray(weights[i + 1]))
                       for i in range(0, len(weights), 2)]
        self.state = init(self.params)
        y = data["y"]
        y = y.astype(np.int32) if net.loss == "sparse_categorical_crossentropy" else y
        self.B, self.n = case.batch, len(data["X"])
        grad = jax.value_and_grad(loss)

        def step(params, state, x, y):
            value, g = grad(params, x, y)
            params, state = update(params, g, state)
            return params, state, value

        key = (peer, net, self.B, self.n)
        if peer == "jax-step":
            if key not in _COMPILED:
                _COMPILED[key] = jax.jit(step, donate_argnums=(0, 1))
            self.step = _COMPILED[key]
            self.X, self.Y = data["X"], y
            self.rng = np.random.default_rng(seed)
            self.train = self._train_steps
        else:
            if key not in _COMPILED:
                _COMPILED[key] = jax.jit(self._scan_epoch(step), donate_argnums=(0, 1))
            self.epoch = _COMPILED[key]
            self.X, self.Y = jnp.asarray(data["X"]), jnp.asarray(y)
            self.rng = np.random.default_rng(seed)
            self.train = self._train_scan

    def _scan_epoch(self, step):
        n, B = self.n, self.B
        nb, rem = divmod(n, B)

        def epoch(params, state, perm, X, Y):
            def body(carry, rows):  # this batch's rows, gathered here
                p, s, value = step(*carry, X[rows], Y[rows])
                return (p, s), value
            (params, state), values = self.jax.lax.scan(
                body, (params, state), perm[:nb * B].reshape((nb, B)))
            total = values.sum() * B
            if rem:
                tail = perm[nb * B:]
                params, state, value = step(params, state, X[tail], Y[tail])
                total = total + value * rem
            return params, state, total / n
        return epoch

    def _train_scan(self, epochs):
        for _ in range(epochs):
            perm = self.rng.permutation(self.n).astype(np.int32)
            self.params, self.state, _ = self.epoch(self.params, self.state, perm,
                                                    self.X, self.Y)
        self.jax.block_until_ready(self.params)

    def _train_steps(self, epochs):
        B, step = self.B, self.step
        params, state = self.params, self.state
        for _ in range(epochs):
            perm = self.rng.permutation(self.n)
            Xs, Ys = self.X[perm], self.Y[perm]
            for i in range(0, self.n, B):
                params, state, _ = step(params, state, Xs[i:i + B], Ys[i:i + B])
        self.params, self.state = self.jax.block_until_ready((params, state))

    def predict(self, X):
        return np.asarray(self.out(self.logits(self.params, X)))


def trainer(peer, case, net, data, weights, seed):
    return Trainer(peer, case, net, data, weights, seed)


def predictor(peer, case, net, weights, x):
    import jax
    import jax.numpy as jnp

    logits, _, out = _fns(net)
    params = [(jnp.asarray(weights[i]), jnp.asarray(weights[i + 1]))
              for i in range(0, len(weights), 2)]
    f = jax.jit(lambda p, x: out(logits(p, x)))
    return lambda: np.asarray(f(params, x))
