FROM python:3.11-slim
WORKDIR /srv/prefarm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY app ./app
COPY migrations ./migrations
COPY templates ./templates
RUN pip install --no-cache-dir .
RUN useradd --system prefarm
USER prefarm
EXPOSE 8000
CMD ["prefarm", "serve", "--host", "0.0.0.0", "--port", "8000"]
