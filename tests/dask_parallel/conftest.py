"""One LocalCluster of two worker processes for the tg.distributed tests (starting one costs
seconds; this folder is not called `distributed`, which would shadow Dask's package on
the tests' pythonpath); the fault tests kill a worker of it, which its nanny restarts."""
import pytest

pytest.importorskip("distributed", reason='tapegrad[distributed] is not installed')


@pytest.fixture(scope="package")  # closed before other folders run
def client():
    from dask.distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()
