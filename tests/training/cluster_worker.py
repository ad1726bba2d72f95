"""One worker of a local multi-worker run: ``python cluster_worker.py DATA_DIR OUTPUT_DIR KWARGS_JSON [KILL_AFTER]``.

Runs ``fit_selfie_resnet(DATA_DIR, OUTPUT_DIR, **KWARGS)`` under the ``TF_CONFIG`` of its environment, with the
stand-in models of ``tests/example_stand_ins.py`` registered, and prints one JSON line: the epochs and losses of its
result, where the result points, and every file or folder the process put in place with ``os.replace`` (how the
engine finishes each of its atomic writes). With ``KILL_AFTER`` the process sends itself SIGKILL after that many
training steps: a worker lost mid-epoch.
"""

from __future__ import annotations

import json
import os
import signal
import sys


def main() -> None:
    data_dir, output_dir, kwargs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    kill_after = int(sys.argv[4]) if len(sys.argv) > 4 else None
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import example_stand_ins  # noqa: F401  (registers stand_in_selfie)

    from facezoo.training import fit_selfie_resnet, keras_bridge

    written, replace = [], os.replace

    def recording_replace(src, dst, **kw):
        written.append(os.path.abspath(dst))
        return replace(src, dst, **kw)

    os.replace = recording_replace
    if kill_after is not None:
        steps = []

        def on_train_batch_end(self, batch, logs=None):
            steps.append(batch)
            if len(steps) == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)

        keras_bridge.EpochCheckpoint.on_train_batch_end = on_train_batch_end
    result = fit_selfie_resnet(data_dir, output_dir, **kwargs)
    print(
        json.dumps(
            {
                "epochs": result.history["epoch"],
                "loss": result.history["loss"],
                "output_dir": str(result.output_dir),
                "pretrained_dir": str(result.pretrained_dir),
                "replicas": result.training_args["replicas"],
                "written": written,
            }
        )
    )


if __name__ == "__main__":
    main()
