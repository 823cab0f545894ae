"""The illustrative 'three ingredients' simulation of Appendix B.5 (Table 1, Figure 2), batched."""
