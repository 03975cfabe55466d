using System.Buffers;
using System.Text.Json;

namespace Shockwave.Samples.Chat;

/// <summary>A room message as stored in history and relayed: the text exactly as its sender wrote it.</summary>
public sealed record ChatMessage(string Id, string Room, string From, string Text, DateTimeOffset Timestamp);

/// <summary>Writes what the server sends (docs/chat-protocol.md), each as one JSON text message.</summary>
internal static class ChatWire
{
    public static WibeSocketPreparedMessage Hello(string user) => Write(writer =>
    {
        writer.WriteString("type", "hello");
        writer.WriteString("user", user);
        writer.WriteStartObject("limits");
        writer.WriteNumber("message", ChatProtocol.MaxMessageBytes);
        writer.WriteNumber("text", ChatProtocol.MaxTextLength);
        writer.WriteNumber("room", ChatProtocol.MaxRoomLength);
        writer.WriteNumber("rooms", ChatProtocol.MaxRoomsPerConnection);
        writer.WriteNumber("history", ChatProtocol.HistoryLength);
        writer.WriteEndObject();
    });

    public static WibeSocketPreparedMessage Joined(string room, IReadOnlyList<ChatMessage> history, ChatMembers members) => Write(writer =>
    {
        writer.WriteString("type", "joined");
        writer.WriteString("room", room);
        writer.WriteStartArray("history");
        foreach (var message in history)
        {
            writer.WriteStartObject();
            WriteMessageFields(writer, message);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        WriteMembersFields(writer, members);
    });

    public static WibeSocketPreparedMessage Left(string room) => Write(writer =>
    {
        writer.WriteString("type", "left");
        writer.WriteString("room", room);
    });

    public static WibeSocketPreparedMessage Members(string room, ChatMembers members) => Write(writer =>
    {
        writer.WriteString("type", "members");
        writer.WriteString("room", room);
        WriteMembersFields(writer, members);
    });

    public static WibeSocketPreparedMessage Message(ChatMessage message) => Write(writer =>
    {
        writer.WriteString("type", "message");
        WriteMessageFields(writer, message);
    });

    public static WibeSocketPreparedMessage Direct(string id, string from, string to, string text, DateTimeOffset timestamp) => Write(writer =>
    {
        writer.WriteString("type", "direct");
        writer.WriteString("id", id);
        writer.WriteString("from", from);
        writer.WriteString("to", to);
        writer.WriteString("text", text);
        writer.WriteString("ts", timestamp);
    });

    public static WibeSocketPreparedMessage Error(ChatError error) => Write(writer =>
    {
        writer.WriteString("type", "error");
        writer.WriteString("code", error.Code);
        writer.WriteString("message", error.Message);
        if (error.For is not null)
        {
            writer.WriteString("for", error.For);
        }

        if (error.Room is not null)
        {
            writer.WriteString("room", error.Room);
        }
    });

    private static void WriteMessageFields(Utf8JsonWriter writer, ChatMessage message)
    {
        writer.WriteString("id", message.Id);
        writer.WriteString("room", message.Room);
        writer.WriteString("from", message.From);
        writer.WriteString("text", message.Text);
        writer.WriteString("ts", message.Timestamp);
    }

    private static void WriteMembersFields(Utf8JsonWriter writer, ChatMembers members)
    {
        writer.WriteNumber("version", members.Version);
        writer.WriteStartArray("members");
        foreach (var member in members.Users)
        {
            writer.WriteStringValue(member);
        }

        writer.WriteEndArray();
    }

    private static WibeSocketPreparedMessage Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, ChatProtocol.WriterOptions))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return WibeSocketPreparedMessage.Create(buffer.WrittenSpan, WibeSocketMessageType.Text);
    }
}
