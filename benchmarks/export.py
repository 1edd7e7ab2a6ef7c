"""One exported model against the ensemble it came from: parity and prediction time.

Usage::

    keras-ensembles fit --data full --output m.zip     # the CLI-default model
    python benchmarks/export.py --model m.zip            # -> results/export.{md,json}

On the full Fashion-MNIST test set: the largest absolute difference from
``predict_proba`` on ``--parity-rows`` images for the Keras model, the
``.keras`` file reloaded, the SavedModel (loaded with ``tf.saved_model.load``)
and TFLite; and the time to predict all 10,000 images (median of
``--repeats``) with ``predict_proba``, the exported Keras model and the
SavedModel (batches of 512, as predict_proba), each after one warm-up call.
"""

import argparse
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from _common import machine, markdown_table, median_seconds, write_results  # noqa: E402

#: The batch size predict_proba uses (members.utils.prediction.PREDICT_BATCH_SIZE).
BATCH = 512


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a fitted ensemble archive")
    parser.add_argument("--parity-rows", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--name", default="export")
    return parser.parse_args(argv)


def in_batches(serve, X):
    return np.concatenate([np.asarray(serve(X[i:i + BATCH])) for i in range(0, len(X), BATCH)])


def tflite_runner(path):
    import tensorflow as tf

    runner = tf.lite.Interpreter(model_path=str(path)).get_signature_runner()
    (name,) = runner.get_input_details()

    def predict(X):
        return np.concatenate([next(iter(runner(**{name: X[i:i + 1]}).values()))
                               for i in range(len(X))])
    return predict


def main(argv=None):
    args = parse_args(argv)
    import keras
    import tensorflow as tf

    import ensemble.export.layers  # noqa: F401  (registers the layers of a .keras file)
    from ensemble import load
    from ensemble.datasets import load_fashion_mnist
    from ensemble.export import export, to_keras

    model = load(args.model)
    _, (X_test, _), _ = load_fashion_mnist("full", download=False)
    X = X_test.astype("float32")
    parity = X[:args.parity_rows]
    expected = model.predict_proba(parity)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        served = to_keras(model)
        paths = {fmt: export(model, os.path.join(folder, name), format=fmt)
                 for fmt, name in (("keras", "m.keras"), ("savedmodel", "served"),
                                   ("tflite", "m.tflite"))}
        reloaded = keras.saving.load_model(paths["keras"], safe_mode=True)
        saved = tf.saved_model.load(str(paths["savedmodel"]))
        predictors = {
            "Keras model (to_keras)": lambda Z: served.predict(Z, batch_size=BATCH, verbose=0),
            ".keras file reloaded": lambda Z: reloaded.predict(Z, batch_size=BATCH, verbose=0),
            "SavedModel (TensorFlow alone)": lambda Z: in_batches(saved.serve, Z),
            "TFLite": tflite_runner(paths["tflite"]),
        }
        for name, predict in predictors.items():
            rows.append({"model": name, "max_abs_diff": float(np.abs(predict(parity)
                                                                     - expected).max())})
            print(f"{name}: max |difference| {rows[-1]['max_abs_diff']:.2e}", flush=True)
        timings = {"predict_proba (the ensemble)": lambda: model.predict_proba(X_test),
                   "Keras model (to_keras)": lambda: predictors["Keras model (to_keras)"](X),
                   "SavedModel (TensorFlow alone)":
                       lambda: predictors["SavedModel (TensorFlow alone)"](X)}
        seconds = {name: median_seconds(run, args.repeats) for name, run in timings.items()}
    for name, value in seconds.items():
        print(f"{name}: {value:.2f} s for {len(X)} images", flush=True)
    base = seconds["predict_proba (the ensemble)"]
    timing_rows = [{"model": name, "seconds": value, "ratio": value / base}
                   for name, value in seconds.items()]
    table = "\n\n".join([
        f"## Parity with predict_proba ({len(parity)} test images)",
        markdown_table(rows, [("model", "model", "{}"), ("max_abs_diff",
                                                          "largest absolute difference",
                                                          "{:.2e}")]),
        f"## Prediction time, {len(X)} test images (median of {args.repeats}, after a warm-up)",
        markdown_table(timing_rows, [("model", "model", "{}"), ("seconds", "seconds", "{:.2f}"),
                                     ("ratio", "/ predict_proba", "{:.2f}")])])
    write_results(args.name, {"model": args.model, "parity": rows, "timing": timing_rows,
                              "machine": machine()}, table)


if __name__ == "__main__":
    main()
