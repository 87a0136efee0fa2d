# One image for the three services (receiver, paging processor, lake processor); the ECS task picks the
# entry point with its command, e.g. `node --import tsx producers/receiver/main.ts`.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
WORKDIR /app
COPY package.json package-lock.json ./
# tsx runs the TypeScript sources, so the dev dependencies stay (tsx is one); no build step.
RUN npm ci --no-audit --no-fund --include=dev && npm cache clean --force
COPY schemas ./schemas
COPY producers ./producers
COPY processors ./processors
COPY infra ./infra
COPY tsconfig.json ./
USER node
EXPOSE 8080
CMD ["node", "--import", "tsx", "infra/run.ts"]
