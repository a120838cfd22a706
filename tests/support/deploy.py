"""`python -m tests.support.deploy RECIPE STACK [--ref REF] [--order ORDER]`: a deploy command for `wait`."""

from __future__ import annotations

import argparse
import sys

from ccci_tui.upgrade.stack import deploy_recipe


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("recipe")
    p.add_argument("stack")
    p.add_argument("--ref")
    p.add_argument("--order", choices=("stop-first", "start-first"))
    args = p.parse_args()
    result = deploy_recipe(args.recipe, args.stack, ref=args.ref, order=args.order)
    print(f"deployed {result.stamp} to {args.stack}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
