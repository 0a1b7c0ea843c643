"""Data-parallel training over many processes (MPI) or threads: see issue 17."""
