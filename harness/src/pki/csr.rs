//! CSR and certificate lint (next commit).
