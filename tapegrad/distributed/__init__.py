"""`tg.distributed`: data-parallel training on Dask's distributed scheduler.

    pip install "tapegrad[distributed]"

    from dask.distributed import Client, LocalCluster
    client = Client(LocalCluster(n_workers=2))
    shards = tg.distributed.shards(client, make_shard, 8)   # shard i = make_shard(i)
    dp = tg.distributed.data_parallel(tg.value_and_grad(loss), client, shards)
    for step in range(20):
        value, grads = dp(params)                           # summed on the workers
        params = sgd_step(params, grads)                    # on the client

Workers receive the loss as exported IR (tg.export), never as pickled Python, and
compile it once per process.  Importing this module does not import dask: only
building shards or a DataParallel does.  See docs/distributed.md.
"""
from .data_parallel import COMBINES, DataParallel, data_parallel, shards

__all__ = ["COMBINES", "DataParallel", "data_parallel", "shards"]
