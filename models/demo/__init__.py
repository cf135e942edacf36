"""The bundled demo model: a procedural scene world, its training recipe and its evaluation."""
