"""Publish a ``save_pretrained`` folder (e.g. a training run's ``pretrained/``) to the Hugging Face Hub.

    python examples/publish_to_hub.py runs/utkface_age_gender/run/pretrained my-org/utkface-multitask --tag v1

Trains nothing: it pushes the folder with ``facezoo.hub.push_to_hub``, which first checks, with no network, that it
loads (checksums, config, weights), then commits Keras' files, ``facezoo.json`` and the model card together, and
prints the commit URL; load it back with ``facezoo.hub.from_pretrained("hf://my-org/utkface-multitask@v1")``. ``--endpoint``
targets another Hub (default ``$HF_ENDPOINT`` or huggingface.co); ``--token`` defaults to the cached login or
``$HF_TOKEN``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from facezoo import hub


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="a folder written by facezoo.hub.save_pretrained")
    parser.add_argument("repo_id", help="Hub repository, e.g. my-org/utkface-multitask (created if missing)")
    parser.add_argument("--endpoint", help="Hub URL (default: $HF_ENDPOINT or https://huggingface.co)")
    parser.add_argument("--token", help="Hub token (default: the cached login or $HF_TOKEN)")
    parser.add_argument("--revision", help="branch to commit to (created if missing)")
    parser.add_argument("--tag", help="tag the new commit, e.g. v1")
    parser.add_argument("--message", help="commit message")
    parser.add_argument("--private", action="store_true", help="create the repository as private")
    args = parser.parse_args()

    try:
        commit = hub.push_to_hub(
            args.folder,
            args.repo_id,
            revision=args.revision,
            tag=args.tag,
            commit_message=args.message,
            private=args.private,
            token=args.token,
            endpoint=args.endpoint,
        )
    except (hub.HubError, ValueError, FileNotFoundError) as error:
        parser.exit(1, f"publish_to_hub.py: error: {error}\n")
    print(commit.commit_url)


if __name__ == "__main__":
    main()
