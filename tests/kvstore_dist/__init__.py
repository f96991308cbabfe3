"""Tests of the distributed kvstores (Ray servers, ``mxlite launch``) and gradient compression."""
