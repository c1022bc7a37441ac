# ---------------------------------------------------------------- qcow2
# The qcow2 reader against images qemu-img makes (filled in by the qcow2 tests).
