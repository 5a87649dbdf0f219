"""What visitors see: generated test sites and the visitors who load them through the edge."""
