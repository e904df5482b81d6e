# torchrun for the launch test (tests/core/dist.cmake, `torchrun_launch`): Debian's torch 1.13
# torchrun fails under Python 3.11 before it starts a worker (its Std enum's from_str returns None
# for "0"); this restores that one method and runs torch.distributed.run's main unchanged. The
# workers it starts are `recalign run ...` processes (--no_python): what a user's torchrun does.
import sys

import torch.distributed.elastic.multiprocessing.api as api

_from_str = api.Std.from_str


def _fixed_from_str(vm):
    r = _from_str(vm)
    return api.Std.NONE if r is None else r


api.Std.from_str = staticmethod(_fixed_from_str)

import torch.distributed.run as run  # noqa: E402

run.Std = api.Std
sys.argv[0] = "torchrun"
run.main()
