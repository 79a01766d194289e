//! Dynamic-plugin metadata and directory naming.
