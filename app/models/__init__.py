"""Request/response models mirroring reference/data-storage-v1.yaml, one module per area."""
