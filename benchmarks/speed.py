"""Where the CPU time goes: seconds per epoch of each default member under TensorFlow's options.

Usage::

    python benchmarks/speed.py [--rows 12800] [--epochs 4]

For each default member network (the builder and hyper-parameters of
``PlainCNNClassifier()``, ``SeparableCNNClassifier()``,
``ResidualNetClassifier()``, with their augmentation layers), trained with a
bare ``model.fit`` on ``--rows`` Fashion-MNIST images:

- seconds per epoch, scaled to the 54,000 rows a member trains on inside
  the default ensemble (median of the epochs after the first, which traces
  and warms up), for each setting TensorFlow offers on a CPU: the default;
  XLA (``jit_compile=True``); batch sizes 64 and 256 beside the default
  128; one intra-op thread (with one inter-op thread); oneDNN switched off
  (``TF_ENABLE_ONEDNN_OPTS=0``); ``steps_per_execution=8``. Each setting
  runs in a fresh process, because thread counts and oneDNN are fixed at
  TensorFlow's start;
- the network's multiply-adds per image (convolutions and dense layers),
  its floating-point operations per training epoch (forward and backward,
  about 3x the forward pass) and the GFLOP/s it reaches, beside the machine's
  peak: the theoretical figure (cores x FMA units x vector lanes x 2 x
  clock) and a float32 matrix product measured with NumPy.

Writes ``benchmarks/results/speed.{md,json}``.
"""

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: name -> (environment variables, compile settings, fit settings)
SETTINGS = {
    "default": ({}, {}, {}),
    "XLA jit_compile": ({}, {"jit_compile": True}, {}),
    "batch 64": ({}, {}, {"batch_size": 64}),
    "batch 256": ({}, {}, {"batch_size": 256}),
    "1 thread": ({"KE_INTRA_THREADS": "1"}, {}, {}),
    "oneDNN off": ({"TF_ENABLE_ONEDNN_OPTS": "0"}, {}, {}),
    "steps_per_execution 8": ({}, {"steps_per_execution": 8}, {}),
}
MEMBER_NAMES = ("plain", "separable", "residual")
ROWS_PER_MEMBER_EPOCH = 54_000


def member_network(name):
    """The default member's network (augmentation layers included), uncompiled."""
    from members import PlainCNNClassifier, ResidualNetClassifier, SeparableCNNClassifier

    cls = {"plain": PlainCNNClassifier, "separable": SeparableCNNClassifier,
           "residual": ResidualNetClassifier}[name]
    member = cls(random_state=0)
    return member, member.compiled_model((28, 28, 1), 10, 1 / 255, steps_per_epoch=100, seed=0)


def forward_multiply_adds(model):
    """Multiply-adds of one forward pass of one image through the convolutions and dense layers."""
    import keras

    from members.utils.layers import leaf_layers

    total = 0
    for layer in leaf_layers(model):
        if isinstance(layer, keras.layers.SeparableConv2D):
            h, w, c_out = layer.output.shape[1:]
            c_in = layer.input.shape[-1]
            k = layer.kernel_size[0] * layer.kernel_size[1]
            total += h * w * (k * c_in + c_in * c_out)
        elif isinstance(layer, keras.layers.Conv2D):
            h, w, c_out = layer.output.shape[1:]
            c_in = layer.input.shape[-1]
            total += h * w * layer.kernel_size[0] * layer.kernel_size[1] * c_in * c_out
        elif isinstance(layer, keras.layers.Dense):
            total += layer.input.shape[-1] * layer.units
    return int(total)


def time_setting(name, setting, rows, epochs):
    """Seconds per epoch (scaled to 54,000 rows) of one member under one setting.

    Timed in this process.
    """
    import numpy as np

    from ensemble.datasets import load_fashion_mnist

    _, compile_settings, fit_settings = SETTINGS[setting]
    if os.environ.get("KE_INTRA_THREADS"):
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(int(os.environ["KE_INTRA_THREADS"]))
        tf.config.threading.set_inter_op_parallelism_threads(1)
    (X, y), _, _ = load_fashion_mnist("full")
    X = X[:rows].reshape(rows, -1).astype("float32")
    y = y[:rows]
    member, model = member_network(name)
    # The member's own optimizer and loss, with the setting's compile options.
    model.compile(optimizer=model.optimizer, loss=model.loss, metrics=["accuracy"],
                  **compile_settings)
    times = []
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    model.fit(X, y, epochs=epochs, batch_size=fit_settings.get("batch_size", member.batch_size),
              callbacks=[EpochTimer()], verbose=0)
    per_row = float(np.median(times[1:])) / rows
    return {"seconds_per_epoch": per_row * ROWS_PER_MEMBER_EPOCH,
            "epoch_seconds": [round(t, 2) for t in times]}


def run_in_fresh_process(name, setting, rows, epochs):
    env = dict(os.environ, **SETTINGS[setting][0])
    command = [sys.executable, __file__, "--child", name, setting, "--rows", str(rows),
               "--epochs", str(epochs)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def matmul_gflops(size=1024, repeats=20):
    """Float32 matrix products per second with NumPy's BLAS: what this CPU reaches in practice."""
    import numpy as np

    a = np.random.RandomState(0).rand(size, size).astype("float32")
    a @ a
    start = time.perf_counter()
    for _ in range(repeats):
        a @ a
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


def theoretical_gflops():
    """Cores x FMA units x float32 lanes x 2 x clock, from /proc/cpuinfo (None if unknown)."""
    try:
        text = open("/proc/cpuinfo").read()
    except OSError:
        return None, "unknown"
    flags = next((line for line in text.splitlines() if line.startswith("flags")), "")
    mhz = [float(line.split(":")[1]) for line in text.splitlines() if line.startswith("cpu MHz")]
    lanes = 16 if " avx512f" in flags else 8 if " avx2" in flags else 4
    fma_units = 2
    cores = os.cpu_count() or 1
    if not mhz:
        return None, "unknown clock"
    peak = cores * fma_units * lanes * 2 * max(mhz) / 1000
    return peak, (f"{cores} cores x {fma_units} FMA units x {lanes} float32 lanes x 2 x "
                  f"{max(mhz) / 1000:.2f} GHz")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=12_800)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--members", default=",".join(MEMBER_NAMES))
    parser.add_argument("--settings", default=",".join(SETTINGS))
    parser.add_argument("--child", nargs=2, metavar=("MEMBER", "SETTING"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        from ensemble import import_keras_quietly

        import_keras_quietly()
        print(json.dumps(time_setting(*args.child, args.rows, args.epochs)))
        return
    report(args)


def report(args):
    import _common as common
    from ensemble import import_keras_quietly

    import_keras_quietly()
    peak, peak_how = theoretical_gflops()
    blas = matmul_gflops()
    rows = []
    for name in args.members.split(","):
        member, model = member_network(name)
        mads = forward_multiply_adds(model)
        # Training: forward + backward (about twice the forward) on the
        # training rows; validation: one forward pass of 10 % more rows.
        flops_per_epoch = 2 * mads * (3 * ROWS_PER_MEMBER_EPOCH)
        for setting in args.settings.split(","):
            timing = run_in_fresh_process(name, setting, args.rows, args.epochs)
            seconds = timing["seconds_per_epoch"]
            row = {"member": name, "setting": setting, "params": model.count_params(),
                   "mmacs_per_image": mads / 1e6, "tflop_per_epoch": flops_per_epoch / 1e12,
                   "seconds_per_epoch": seconds, "gflops": flops_per_epoch / seconds / 1e9,
                   "epoch_seconds": timing["epoch_seconds"]}
            rows.append(row)
            print(json.dumps(row), flush=True)
    columns = [("member", "member", "{}"), ("setting", "setting", "{}"),
               ("params", "params", "{:,}"),
               ("mmacs_per_image", "M multiply-adds / image", "{:.1f}"),
               ("tflop_per_epoch", "TFLOP / epoch", "{:.2f}"),
               ("seconds_per_epoch", "s / epoch (54k rows)", "{:.1f}"),
               ("gflops", "GFLOP/s", "{:.1f}")]
    header = (f"{args.rows:,} training rows per timing, {args.epochs} epochs (median of the last "
              f"{args.epochs - 1}), scaled to {ROWS_PER_MEMBER_EPOCH:,} rows. Peak: "
              f"{'?' if peak is None else f'{peak:.0f}'} GFLOP/s theoretical ({peak_how}); "
              f"NumPy float32 matrix product: {blas:.0f} GFLOP/s.")
    table = header + "\n\n" + common.markdown_table(rows, columns)
    print(table)
    common.write_results("speed", {"machine": common.machine(), "peak_gflops": peak,
                                   "peak_how": peak_how, "matmul_gflops": blas, "rows": rows,
                                   "settings": {k: [v[0], v[1], v[2]]
                                                for k, v in SETTINGS.items()}},
                         table)


if __name__ == "__main__":
    main()
