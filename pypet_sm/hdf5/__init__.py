"""The format layer, the only code that speaks HDF5 (PyTables): pypet's layout, the leaf codec,
overview tables, the stacked layout and the run-scalars index, the writer and the reader."""
