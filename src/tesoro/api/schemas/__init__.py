"""Every HTTP shape of the API as a pydantic model, one module per resource group.

Each resource has a family in the manner of the FastAPI full-stack template's
`models.py`: `XCreate` / `XUpdate` for what a client sends, `XPublic` for what
it gets back, `XPage` / `XList` for collections. Routes pass them as
`response_model`, so `/openapi.json` and `/docs` show every request and response
with an example, and a client can generate its types from them.
"""
