"""A stock django-eventstream 5.3.4 set-up, run by bench/sse.py beside the product's stream."""
