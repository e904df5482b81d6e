// Owner of the torch precompiled header (core_pch.h); holds no code.
