"""Helpers the tests share: free ports, settings for a test broker, waiting for a fact."""
