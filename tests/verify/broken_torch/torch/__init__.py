# A torch that cannot be imported, like a CUDA wheel whose libraries are missing. Put this directory on
# PYTHONPATH to shadow the real torch in the suite process. The message is the one a cu12 wheel gives when
# libcudart is absent (pytorch/pytorch issues quote it verbatim).
raise ImportError("libcudart.so.12: cannot open shared object file: No such file or directory")
