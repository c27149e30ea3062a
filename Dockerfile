FROM python:3.11-slim
WORKDIR /srv/prefarm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY clients ./clients
COPY app ./app
COPY migrations ./migrations
COPY templates ./templates
# The server package depends on the client package in clients/python (the `prefarm` command).
RUN pip install --no-cache-dir .
RUN useradd --system --uid 999 prefarm
USER prefarm
EXPOSE 8000
CMD ["prefarm", "serve", "--host", "0.0.0.0", "--port", "8000"]
