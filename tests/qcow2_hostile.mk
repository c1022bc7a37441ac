# ---------------------------------------------------------------- hostile qcow2
# Damaged and hostile qcow2 images (filled in by the hostile-image tests).
