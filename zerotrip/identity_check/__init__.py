"""Remote identity check (远程核): restricted identity stills, who may see them, and the trace."""
