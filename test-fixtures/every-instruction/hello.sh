#!/bin/sh
echo "$(cat /app/greeting) $1 from $APP_HOME"
