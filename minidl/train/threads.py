"""How many threads NumPy's BLAS may use while training on the CPU."""
__all__ = ["blas_threads"]


def blas_threads(threads=None):
    """A context in which NumPy's BLAS uses at most ``threads`` threads (default: one).

    One thread is the default because the matrices of small networks are too
    small for threads to pay, and on a shared machine BLAS threads that spin
    while waiting for a core make each step several times slower (LeNet-5 on
    a busy 2-core machine: 40 ms a step on one thread, 130 ms on two).  Big
    networks on an idle multi-core CPU want more.  BLAS reads its thread
    count when NumPy is imported, which ``import minidl`` has done before
    any of this runs, so the limit is set with threadpoolctl (the way
    scikit-learn does it)::

        with blas_threads(4):
            fit(model, train_loader, test_loader, optimizer, epochs=10)

    threadpoolctl is a dependency of minidl, so the limit always applies: the
    same seed gives the same numbers whatever else is installed.
    """
    from threadpoolctl import threadpool_limits
    return threadpool_limits(1 if threads is None else threads, user_api="blas")
