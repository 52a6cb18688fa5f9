"""Built-in concept filters: teachability (``kl-student``) and novelty (``spectral``)."""

from conceptlab.filters.kl_student import KLStudentFilter, bootstrap_interval, top1_agreement
from conceptlab.filters.spectral import SpectralNoveltyFilter

__all__ = ["KLStudentFilter", "SpectralNoveltyFilter", "bootstrap_interval", "top1_agreement"]
