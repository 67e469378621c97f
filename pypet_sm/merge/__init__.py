"""The merge: every run's fragment, in run order, into one trajectory file, written by the
format layer (`pypet_sm.hdf5`) and replaced atomically."""
