"""Operations: health probe, security headers, host checks."""
