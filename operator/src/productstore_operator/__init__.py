"""The Product Store operator: ProductStore custom resource -> running store."""
