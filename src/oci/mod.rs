//! OCI image layouts of dynamic plugins (see issue: buildOciLayout).
