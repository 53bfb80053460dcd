"""Issues: problems or requests the implementation team tracks, each evidenced by many feedback items."""
